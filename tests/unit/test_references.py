"""References on real text: every spelling of a designation gives one key, and a
document's own identifier gives the key its citations give."""

from __future__ import annotations

import html
import json
import re

import pytest

from conftest import FIXTURES
from omvarld.nlp.references import Reference, extract_references, own_reference, reference_key


def keys(text: str) -> list[str]:
    return [ref.key for ref in extract_references(text)]


def riksdagen_text(name: str) -> str:
    """The text of a recorded dokumentstatus, tags stripped."""
    dok = json.loads((FIXTURES / "riksdagen" / name).read_text(encoding="utf-8"))
    raw = dok["dokumentstatus"]["dokument"]["html"]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html.unescape(raw)))


DEV = {
    (row := json.loads(line))["title"]: row
    for line in (FIXTURES / "labelled/dev.jsonl").read_text(encoding="utf-8").splitlines()
}
BET_AU6 = riksdagen_text("dokumentstatus_bet_HA01AU6_integration.json")
REMISS_DS = (FIXTURES / "regeringen/g0v-mirror_remiss_ds-2025-28_page-as-markdown.txt").read_text(
    encoding="utf-8")


@pytest.mark.parametrize(
    ("spellings", "key"),
    [
        (["SFS 2020:123", "SFS2020:123", "lagen (2020:123) om", "förordning (2020:123)"],
         "SFS 2020:123"),
        (["prop. 2025/26:45", "Prop. 2025/26:45", "proposition 2025/26:45",
          "propositionen 2025/26:45", "prop 2025/2026:45"], "prop. 2025/26:45"),
        (["SOU 2025:12", "SOU 2025:012", "(SOU 2025:12)", "till 2030SOU 2025:12"], "SOU 2025:12"),
        (["Ds 2025:28", "promemorian Stärkt trygghet i bostadsrätter, Ds 2025:28."], "Ds 2025:28"),
        (["bet. 2022/23:AU6", "betänkande 2022/23:AU6", "Betänkandet 2022/23:AU6",
          "2022/23:AU6", "bet. 2022/23:au6"], "bet. 2022/23:AU6"),
        (["Dir. 2017:29", "dir. 2017:29", "kommittédirektiv 2017:29"], "Dir. 2017:29"),
        (["COM(2025) 123", "COM (2025) 123", "COM(2025)0123", "COM/2025/123",
          "COM(2025) 123 final", "KOM(2025) 123", "CELEX:52025PC0123"], "COM(2025) 123"),
        (["2024/0258(COD)", "2024/0258 (COD)", "procedure 2024/0258(cod)"], "2024/0258(COD)"),
        (["CELEX:32021R1153", "uri=CELEX%3A32021R1153", "Regulation (EU) 2021/1153",
          "förordning (EU) 2021/1153", "forordning (EU) 2021/1153"], "CELEX 32021R1153"),
        (["Regulation (EU) No 516/2014", "förordning (EU) nr 516/2014", "CELEX:32014R0516"],
         "CELEX 32014R0516"),
        (["Directive 92/83/EEC", "CELEX:31992L0083"], "CELEX 31992L0083"),
        (["Ju2025/02569", "Diarienummer: Ju2025/02569", "dnr Ju2025/02569",
          "Dnr: JU2025/02569", "(Ju2025/02569/SIM)"], "dnr Ju2025/02569"),
        (["dnr KN2025/01524", "KN2025/01524"], "dnr KN2025/01524"),
    ],
)
def test_every_spelling_gives_one_key(spellings, key):
    for spelling in spellings:
        assert keys(spelling) == [key], spelling
        assert reference_key(spelling) == key


def test_riksmote_1999_2000_is_written_in_full():
    assert keys("prop. 1999/2000:1 och bet. 1999/00:SfU4") == [
        "prop. 1999/2000:1", "bet. 1999/2000:SfU4"]


def test_a_committee_report_cites_its_matter():
    """Betänkande 2022/23:AU6 (recorded from data.riksdagen.se) cites the budget bill, an
    inquiry, its directive, a Ds, another report and the ministries' diarienummer."""
    found = set(keys(BET_AU6))
    assert {"prop. 2022/23:1", "SOU 2022:64", "Dir. 2022:16", "Ds 2018:13",
            "bet. 2022/23:AU7", "dnr Ju2021/00356", "dnr A2022/00809",
            "SFS 2016:38", "mot. 2022/23:1415"} <= found


def test_each_reference_is_listed_once_in_order_of_first_mention():
    found = keys(BET_AU6)
    assert len(found) == len(set(found))
    assert found.index("prop. 2022/23:1") < found.index("bet. 2022/23:AU7")


def test_a_remiss_page_names_its_ds_and_its_diarienummer():
    """The mirror runs the title into "Diarienummer:" without a space."""
    assert keys(REMISS_DS) == ["Ds 2025:28", "dnr Ju2025/02569"]


def test_eur_lex_summary_and_its_url_give_the_same_act():
    """A EUR-Lex summary names the act in its text; its URL carries the CELEX number."""
    row = DEV["Connecting Europe Facility (2021-2027)"]
    in_text = keys(row["text"])
    assert "CELEX 32021R1153" in in_text
    assert keys(row["url"]) == ["CELEX 32021R1153"]


def test_a_commission_communication_is_one_com_key_in_text_and_url():
    row = next(r for t, r in DEV.items() if t.startswith("A NEW SKILLS AGENDA"))
    assert "COM(2016) 381" in keys(row["text"])
    assert keys(row["url"]) == ["COM(2016) 381"]  # CELEX 52016DC0381


def test_text_without_designations_gives_none():
    row = DEV["Kulturministern besöker Jokkmokk"]
    assert keys(row["title"] + "\n" + row["text"]) == []
    ordinary = ("Mötet börjar kl. 10:30 den 2025-10-01. Priset är 1 500 kr, sid. 12:3; "
                "telefon 08-405 10 00; 2030 års mål; 25/26 procent; motion mot 2025/26:45.")
    assert keys(ordinary) == []


@pytest.mark.parametrize(
    ("identifier", "expected"),
    [
        ("SOU 2017:66", Reference("sou", "SOU 2017:66")),
        ("Ds 2016:46", Reference("ds", "Ds 2016:46")),
        ("Dir. 2017:29", Reference("dir", "Dir. 2017:29")),
        ("dir. 2017:29", Reference("dir", "Dir. 2017:29")),
        ("bet. 2022/23:AU6", Reference("bet", "bet. 2022/23:AU6")),
        ("mot. 2014/15:1148", Reference("mot", "mot. 2014/15:1148")),
        ("prop. 2016/17:14", Reference("prop", "prop. 2016/17:14")),
        ("Ju2025/02569", Reference("dnr", "dnr Ju2025/02569")),
        ("Diarienummer: Ju2025/02569", Reference("dnr", "dnr Ju2025/02569")),
        ("A2026/00012", Reference("dnr", "dnr A2026/00012")),
        ("LI2025/02164", Reference("dnr", "dnr LI2025/02164")),
        ("32021R1153", Reference("celex", "CELEX 32021R1153")),
        ("52016DC0381", Reference("com", "COM(2016) 381")),
        ("SFS 1895:bih. 52 s. 1", None),
        ("", None),
        (None, None),
    ],
)
def test_own_identifier_gives_the_key_citations_give(identifier, expected):
    """The identifiers the spiders store (tests/test_spider_*.py) meet their citations."""
    assert own_reference(identifier) == expected


def test_a_citation_meets_the_cited_document():
    citing = "Remissvaren på promemorian (Ds 2016:46) har sammanställts."
    assert reference_key("Ds 2016:46") in keys(citing)
    assert own_reference("Ju2025/02569").key in keys(REMISS_DS)


def test_hostile_input_never_raises():
    for text in ["", " ", "\x00", "(" * 10_000, "2025/" * 20_000, "SOU " * 20_000,
                 "Regulation (EU) " * 5_000, "COM(" * 10_000]:
        assert isinstance(extract_references(text), list)
