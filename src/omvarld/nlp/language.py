"""Language identification: Swedish, English and Danish are what the classifier reads;
Norwegian and German are recognised so that they are not mistaken for Swedish or Danish."""

from __future__ import annotations

from functools import lru_cache

from lingua import Language, LanguageDetectorBuilder

SUPPORTED = ("sv", "en", "da")
UNDETERMINED = "und"

_LANGS = {
    Language.SWEDISH: "sv",
    Language.ENGLISH: "en",
    Language.DANISH: "da",
    Language.BOKMAL: "nb",
    Language.GERMAN: "de",
}


@lru_cache(maxsize=1)
def _detector():
    return (
        LanguageDetectorBuilder.from_languages(*_LANGS)
        .with_preloaded_language_models()
        .build()
    )


def detect_language(text: str, *, max_chars: int = 5000) -> str:
    """ISO 639-1 code of `text` ("sv", "en", "da", "nb", "de") or "und" when unsure.

    Only the first `max_chars` characters are read: enough for a reliable answer and
    keeps a 5 MB document from costing seconds."""
    sample = (text or "").strip()[:max_chars]
    if not any(ch.isalpha() for ch in sample):
        return UNDETERMINED
    found = _detector().detect_language_of(sample)
    return _LANGS.get(found, UNDETERMINED) if found is not None else UNDETERMINED
