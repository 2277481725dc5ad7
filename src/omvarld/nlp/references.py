"""References between documents: SFS, propositions, SOU, Ds, betänkanden, directives, EU
COM documents, EU procedures, CELEX numbers and the Government Offices' diarienummer.

A matter (ärende) travels through many documents: a directive starts an inquiry, the SOU
goes on remiss, a proposition follows, a committee reports, a law is published. Each cites
the others by designation, spelt in many ways ("Prop. 2022/23:72", "proposition
2022/23:72", "prop 2022/23:72"). Every spelling is told into one normalised key
("prop. 2022/23:72"), and a document's own identifier is told into a key by the same
rules, so a document citing SOU 2025:12 meets the SOU itself under one key.

Only designations that name one document across publishers are kept: an agency's own
diary numbers ("Dnr 1.2-345/2025") mean nothing outside that agency and are left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

REFERENCE_KINDS = (
    "sfs", "prop", "sou", "ds", "bet", "mot", "skr", "fpm", "dir", "com", "eu_procedure",
    "celex", "dnr",
)


@dataclass(frozen=True)
class Reference:
    """One cited (or own) designation: `key` is the same for every spelling of it."""

    kind: str
    key: str


# Building blocks. A designation may follow a digit when a page runs its title into it
# ("…etappmål till 2030SOU 2025:107" on the g0vse mirror), so most rules only refuse a
# preceding letter of the same word ("ALETTER" below), others any preceding word
# character or slash ("AWORD"). The check is made in code, not as a look-behind at the
# start of the pattern: a pattern that starts with a literal is searched many times faster.
_YEAR = r"(1[6-9]\d\d|20\d\d)"
_RIKSMOTE = r"((?:19|20)\d\d)\s?/\s?(\d{2}|\d{4})"  # 2025/26, 1999/2000, 2025/2026
_NUMBER_END = r"(?![\d])"

# Riksdag committees (utskott): every code ends in U (and EU-nämnden, EUN). Keys keep
# Riksdagen's spelling.
_COMMITTEES = {
    code.upper(): code
    for code in (
        "AU", "BoU", "CU", "FiU", "FöU", "JoU", "JuU", "KrU", "KU", "LU", "MJU", "NU", "SfU",
        "SkU", "SoU", "TU", "UbU", "UU", "EUN",
    )
}

# The Government Offices' department codes in diarienummer ("Ju2025/02569"). A bare
# number is recognised only with one of these; after "dnr" or "Diarienummer" any code is.
_DEPARTMENTS = {
    code.upper(): code
    for code in (
        "A", "Fi", "Fö", "I", "IJ", "Jo", "Ju", "KN", "Ku", "LI", "M", "N", "S", "SB", "U", "UD",
    )
}

_EU_ACT_TYPES = {
    "regulation": "R", "förordning": "R", "förordningen": "R", "forordning": "R",
    "forordningen": "R",
    "directive": "L", "direktiv": "L", "direktivet": "L",
    "decision": "D", "beslut": "D", "beslutet": "D", "afgørelse": "D", "afgørelsen": "D",
}
_EU_PROCEDURE_TYPES = (
    "COD", "CNS", "APP", "NLE", "INI", "RSP", "BUD", "DEC", "INL", "ACI", "REG", "IMM", "RSO",
    "INS", "DCE", "SYN", "AVC", "BUG", "COS", "DEA", "RPS", "ITS",
)


def _riksmote(first: str, second: str) -> str | None:
    """'2025', '26' → '2025/26'; Riksdagen writes the year 1999/2000 in full. None when
    the two years do not follow each other (then it is not a riksmöte)."""
    start = int(first)
    end = int(second) if len(second) == 4 else (start // 100 * 100 + int(second))
    if len(second) == 2 and end < start:
        end += 100
    if end != start + 1:
        return None
    return f"{start}/{end}" if end % 100 == 0 else f"{start}/{end % 100:02d}"


def _number(value: str) -> int:
    return int(value.lstrip("0") or "0")


# Each rule: a pattern, how its match becomes a Reference (None: not a reference), and
# what may not come just before it.
_Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], Reference | None], str]
ALETTER, AWORD, ANY = "letter", "word", "any"


def _series(kind: str, label: str) -> Callable[[re.Match[str]], Reference | None]:
    """'SOU 2025:12', 'Ds 2025:28', 'Dir. 2017:29', 'SFS 2016:38': year and number."""

    def make(m: re.Match[str]) -> Reference | None:
        return Reference(kind, f"{label} {m.group(1)}:{_number(m.group(2))}")

    return make


def _riksdag(kind: str, label: str) -> Callable[[re.Match[str]], Reference | None]:
    """'prop. 2025/26:45', 'mot. 2014/15:1148': riksmöte and number."""

    def make(m: re.Match[str]) -> Reference | None:
        rm = _riksmote(m.group(1), m.group(2))
        return Reference(kind, f"{label} {rm}:{_number(m.group(3))}") if rm else None

    return make


def _betankande(m: re.Match[str]) -> Reference | None:
    rm = _riksmote(m.group(1), m.group(2))
    code, number = m.group(3), _number(m.group(4))
    committee = _COMMITTEES.get(code.upper())
    if rm is None or committee is None:
        return None
    return Reference("bet", f"bet. {rm}:{committee}{number}")


def _faktapromemoria(m: re.Match[str]) -> Reference | None:
    rm = _riksmote(m.group(1), m.group(2))
    return Reference("fpm", f"fpm. {rm}:FPM{_number(m.group(3))}") if rm else None


def _com(m: re.Match[str]) -> Reference | None:
    return Reference("com", f"COM({m.group(1)}) {_number(m.group(2))}")


def _procedure(m: re.Match[str]) -> Reference | None:
    return Reference("eu_procedure", f"{m.group(1)}/{m.group(2)}({m.group(3).upper()})")


def celex_reference(celex: str) -> Reference | None:
    """A CELEX number as a Reference. The Commission's own documents (sector 5, types DC
    and PC) are COM documents: CELEX 52016DC0381 *is* COM(2016) 381, so both spellings
    give the COM key."""
    m = re.fullmatch(r"([1-9CE])(\d{4})([A-Z]{1,2})(\d{4})(\(\d{2}\))?", celex.strip().upper())
    if m is None:
        return None
    sector, year, kind, number, suffix = m.groups()
    if sector == "5" and kind in ("DC", "PC") and not suffix:
        return Reference("com", f"COM({year}) {_number(number)}")
    return Reference("celex", f"CELEX {sector}{year}{kind}{number}{suffix or ''}")


def _celex(m: re.Match[str]) -> Reference | None:
    return celex_reference(m.group(1))


def _act_key(kind_word: str, year: str, number: str) -> Reference | None:
    act = _EU_ACT_TYPES.get(kind_word.lower())
    if len(year) == 2:
        year = ("19" if int(year) > 50 else "20") + year
    if act is None or len(year) != 4 or len(number) > 4:
        return None
    return Reference("celex", f"CELEX 3{year}{act}{_number(number):04d}")


_ACT_BEFORE = re.compile(
    rf"(?<![^\W\d_])({'|'.join(sorted(_EU_ACT_TYPES, key=len, reverse=True))})\s?$",
    re.IGNORECASE,
)


def _act_word(m: re.Match[str]) -> str | None:
    """The word just before an act's number ("Regulation", "direktiv"): the patterns
    anchor on the number, which is searched much faster than a list of words."""
    before = _ACT_BEFORE.search(m.string, max(0, m.start() - 16), m.start())
    return before.group(1) if before else None


def _eu_act(m: re.Match[str]) -> Reference | None:
    """'Regulation (EU) 2021/1153', 'förordning (EU) nr 516/2014' → the act's CELEX key.
    Since 2015 the year comes first; before, a regulation gave its number first, marked
    "No" ("No 516/2014"), and so the order is read from the marker and the values."""
    word = _act_word(m)
    if word is None:
        return None
    first, second = m.group("first"), m.group("second")
    if not m.group("no") and len(first) == 4 and 1950 <= int(first) <= 2099:
        return _act_key(word, first, second)
    return _act_key(word, second, first)


def _eu_act_year_first(m: re.Match[str]) -> Reference | None:
    """'Directive 2014/36/EU', 'Directive 92/83/EEC': year, number, then the treaty."""
    word = _act_word(m)
    return _act_key(word, m.group("first"), m.group("second")) if word else None


def _dnr(m: re.Match[str]) -> Reference | None:
    code = _DEPARTMENTS.get(m.group(1).upper(), m.group(1))
    return Reference("dnr", f"dnr {code}{m.group(2)}/{m.group(3)}")


_DEPARTMENT_CODES = "|".join(sorted(_DEPARTMENTS.values(), key=len, reverse=True))
_TREATY = r"\((?:EU|EG|EC|EEG|EEC|EF|EØF|EU,\s?Euratom|Euratom)\)"


def _rule(pattern: str, make: Callable[[re.Match[str]], Reference | None], guard: str,
          flags: int = 0) -> _Rule:
    return re.compile(pattern, flags), make, guard


_RULES: list[_Rule] = [
    _rule(rf"SFS\s?(?:nr\.?\s?)?{_YEAR}\s?:\s?(\d{{1,4}}){_NUMBER_END}",
          _series("sfs", "SFS"), ALETTER),
    # "lagen (2016:38) om …", "förordningen (2017:820)": an SFS number in brackets
    _rule(rf"\({_YEAR}:(\d{{1,4}})\)", _series("sfs", "SFS"), AWORD),
    _rule(rf"(?:[Pp]rop(?:\.|ositionen|osition)?|PROP\.?)\s?{_RIKSMOTE}:(\d{{1,4}}){_NUMBER_END}",
          _riksdag("prop", "prop."), ALETTER),
    _rule(rf"(?:[Mm]ot\.|[Mm]otion(?:en)?)\s?{_RIKSMOTE}:(\d{{1,5}}){_NUMBER_END}",
          _riksdag("mot", "mot."), ALETTER),
    _rule(rf"(?:[Ss]kr\.|[Ss]krivelse(?:n)?)\s?{_RIKSMOTE}:(\d{{1,4}}){_NUMBER_END}",
          _riksdag("skr", "skr."), ALETTER),
    # betänkanden, with or without "bet." before: committee codes all end in U
    _rule(rf"{_RIKSMOTE}:([A-ZÅÄÖa-zåäö]{{1,3}}U|EUN)(\d{{1,3}}){_NUMBER_END}",
          _betankande, AWORD, re.IGNORECASE),
    _rule(rf"{_RIKSMOTE}:FPM(\d{{1,4}}){_NUMBER_END}", _faktapromemoria, AWORD, re.IGNORECASE),
    _rule(rf"SOU\s?{_YEAR}\s?:\s?(\d{{1,4}}){_NUMBER_END}", _series("sou", "SOU"), ALETTER),
    _rule(rf"D[sS]\.?\s?{_YEAR}\s?:\s?(\d{{1,4}}){_NUMBER_END}", _series("ds", "Ds"), ALETTER),
    _rule(rf"(?:[Dd]ir\.?|[Kk]ommittédirektiv(?:et)?)\s?{_YEAR}\s?:\s?(\d{{1,4}}){_NUMBER_END}",
          _series("dir", "Dir."), ALETTER),
    # COM(2025) 123, COM (2025) 524, COM(2024)0469, KOM(2008) 12
    _rule(rf"(?:COM|KOM)\s?\(\s?{_YEAR}\s?\)\s?(\d{{1,4}}){_NUMBER_END}", _com, ALETTER),
    # COM/2025/123, COM:2021:0206 (EUR-Lex identifiers)
    _rule(rf"(?:COM|KOM)[/:]{_YEAR}[/:](\d{{1,4}}){_NUMBER_END}", _com, ALETTER),
    _rule(rf"{_YEAR}/(\d{{4}})\s?\(({'|'.join(_EU_PROCEDURE_TYPES)})\)", _procedure, AWORD,
          re.IGNORECASE),
    _rule(r"CELEX(?::|%3A|\s)\s?([1-9CE]\d{4}[A-Z]{1,2}\d{4}(?:\(\d{2}\))?)", _celex, ALETTER,
          re.IGNORECASE),
    # Regulation (EU) 2021/1153, förordning (EU) nr 516/2014, Directive (EU) 2019/1152
    _rule(rf"{_TREATY}\s?(?:(?P<no>No|nr|Nr)\.?\s?)?(?P<first>\d{{1,4}})/(?P<second>\d{{1,4}})"
          r"(?![\d/])", _eu_act, ANY),
    # Directive 2014/36/EU, Directive 92/83/EEC
    _rule(r"(?P<first>\d{2}|\d{4})/(?P<second>\d{1,4})/(?:EU|EG|EC|EEG|EEC|EF|EØF)\b",
          _eu_act_year_first, AWORD),
    # a diarienummer after a label, with any department-like code
    _rule(r"(?:[Dd]nr\.?|[Dd]iarienr\.?|[Dd]iarienummer)\s?:?\s?"
          rf"([A-ZÅÄÖ][A-Za-zÅÄÖåäö]{{0,3}})\s?{_YEAR}/(\d{{1,6}}){_NUMBER_END}", _dnr, ANY),
    # a bare diarienummer: only with a known department code ("Ju2025/02569")
    _rule(rf"({_DEPARTMENT_CODES}){_YEAR}/(\d{{4,6}}){_NUMBER_END}", _dnr, AWORD),
]


def _guard_ok(text: str, start: int, guard: str) -> bool:
    if guard == ANY or start == 0:
        return True
    before = text[start - 1]
    if guard == ALETTER:
        return not before.isalpha()
    return not (before.isalnum() or before in "_/:")

_ANY_DNR = re.compile(rf"([A-ZÅÄÖ][A-Za-zÅÄÖåäö]{{0,3}}){_YEAR}/(\d{{1,6}})(?:/[\wÅÄÖåäö-]+)?")


def extract_references(text: str) -> list[Reference]:
    """Every designation cited in `text`, each once, in order of first appearance."""
    if not text:
        return []
    found: list[tuple[int, Reference]] = []
    for pattern, make, guard in _RULES:
        for m in pattern.finditer(text):
            if not _guard_ok(text, m.start(), guard):
                continue
            ref = make(m)
            if ref is not None:
                found.append((m.start(), ref))
    seen: set[str] = set()
    out: list[Reference] = []
    for _, ref in sorted(found, key=lambda item: item[0]):
        if ref.key not in seen:
            seen.add(ref.key)
            out.append(ref)
    return out


def own_reference(identifier: str | None) -> Reference | None:
    """A document's own identifier ("SOU 2017:66", "bet. 2022/23:AU6", "Ju2025/02569",
    "Diarienummer: A2026/00012") as a Reference, by the same rules as a citation of it.
    A bare diarienummer with an unknown department code is still taken: an identifier
    field says what it is."""
    if not identifier or not identifier.strip():
        return None
    identifier = identifier.strip()
    refs = extract_references(identifier)
    if refs:
        return refs[0]
    celex = celex_reference(identifier)
    if celex is not None:  # EUR-Lex gives its documents' CELEX number bare
        return celex
    m = _ANY_DNR.fullmatch(identifier)
    if m:
        code = _DEPARTMENTS.get(m.group(1).upper(), m.group(1))
        return Reference("dnr", f"dnr {code}{m.group(2)}/{m.group(3)}")
    return None


def reference_key(text: str | None) -> str | None:
    """The normalised key of one designation however it is spelt ("Prop. 2022/23:72",
    "proposition 2022/23:72" → "prop. 2022/23:72"); None if `text` names none."""
    ref = own_reference(text)
    return ref.key if ref else None
