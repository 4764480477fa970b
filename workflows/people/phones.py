"""Phone numbers in one canonical form, by Google's libphonenumber (the ``phonenumbers`` port).

Callers, softphones, web forms and agents spell one number many ways (``010-8888 6666``,
``(010)88886666``, ``+86 10 8888 6666``, ``０１０－８８８８６６６６转123``). Customers are found by
phone, so every spelling must become the same stored text, or one caller becomes several
customers. The stored form (docs/phones.md):

- a number libphonenumber finds valid: E.164 (``+8613800138000``, ``+861088886666``,
  ``+864008108888``, ``+16502530000``), plus ``;ext=NNN`` (RFC 3966's spelling) for an
  extension: at most 16 + 5 + 10 characters, within ``CustomerPhone.phone``'s 32;
- anything else made of digits (short service numbers 95588, 110, 10086; a local number
  without its area code; internal extensions a softphone sends): its digits as typed (with
  ``+`` if one was typed), so nothing a channel sends is lost and the same digits still find
  the same customer;
- letters other than the extension words are refused (:class:`PhoneError`, field ``phone``).

The default region is China: a national number (``138...``, ``010...``, ``400...``) is read
as Chinese, ``00`` starts an international one.
"""

from __future__ import annotations

import functools
import re
import unicodedata

import phonenumbers
from phonenumbers import PhoneNumberFormat, shortnumberinfo

from formbuilder.messages import N_

REGION = "CN"
MIN_DIGITS, MAX_DIGITS, MAX_EXTENSION = 3, 24, 10
EXT = ";ext="
# Invisible marks a copy from a web page or a right-to-left text brings along.
_MARKS = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
                                "\u2066\u2067\u2068\u2069\ufeff\u00ad"))
# Dashes NFKC leaves alone: hyphens, en and em dashes, the horizontal bar, minus, the katakana long mark.
_DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\ufe58\ufe63", "-"))
_TEL = re.compile(r"^\s*tel:", re.IGNORECASE)
_EXTENSION = re.compile(r"\s*(?:;\s*ext=|分机号?|转|ext\.?|extension|x|#)\s*(\d+)\s*$", re.IGNORECASE)
_ALLOWED = re.compile(r"[\d\s\-./()+]+")

LETTERS = N_("%(phone)s is not a phone number: a phone holds digits, spaces, dashes, brackets, + and an "
             "extension after 转, 分机, ext., x or #, but no other letters.")
NOT_A_PHONE = N_("%(phone)s is not a phone number.")


class PhoneError(ValueError):
    """A text that is no phone number; ``msgid`` says why (a message with ``%(phone)s``)."""

    def __init__(self, text: str, msgid: str = NOT_A_PHONE):
        super().__init__(msgid % {"phone": text})
        self.text, self.msgid = text, msgid


def clean(text: str | None) -> str:
    """The text with full-width forms, odd dashes, invisible marks and a ``tel:`` prefix undone."""
    text = unicodedata.normalize("NFKC", text or "").translate(_MARKS).translate(_DASHES)
    return _TEL.sub("", text).strip()


def split_extension(text: str) -> tuple[str, str | None]:
    """The number and its extension written after 转, 分机, ext., x, # or ``;ext=`` (None when none is)."""
    found = _EXTENSION.search(text)
    if found is None or not re.search(r"\d", text[:found.start()]):
        return text, None
    return text[:found.start()], found.group(1)


@functools.lru_cache(maxsize=4096)
def canonical(text: str | None) -> str:
    """The stored form of ``text`` ("" for nothing typed); raises :class:`PhoneError` for a non-number.

    Kept per spelling (a pure function; parsing is ~0.15 ms and a call is asked it several times)."""
    typed = (text or "").strip()
    base, extension = split_extension(clean(text))
    if not base and extension is None:
        return ""
    if not _ALLOWED.fullmatch(base):
        letters = any(unicodedata.category(c).startswith("L") for c in base)
        raise PhoneError(typed, LETTERS if letters else NOT_A_PHONE)
    digits, plus = re.sub(r"\D", "", base), base.lstrip("( ").startswith("+")
    if not MIN_DIGITS <= len(digits) <= MAX_DIGITS or base.count("+") > int(plus):
        raise PhoneError(typed)
    if extension is None:
        base, extension = _dash_extension(base, digits, plus)
        digits = re.sub(r"\D", "", base)
    if extension is not None and not 0 < len(extension) <= MAX_EXTENSION:
        raise PhoneError(typed)
    return _number(digits, plus) + (EXT + extension if extension else "")


def _parsed(digits: str, plus: bool) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(("+" if plus else "") + digits, REGION)
    except phonenumbers.NumberParseException:
        return None


def _number(digits: str, plus: bool) -> str:
    """E.164 for a valid number; a short service number as dialled; other digits as typed."""
    if not plus and digits.startswith("00") and len(digits) > 2 + MIN_DIGITS:
        digits, plus = digits[2:], True  # 00 is China's international prefix: 0044... is +44...
    number = _parsed(digits, plus)
    if number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if number is not None and plus and number.country_code == 86 \
            and shortnumberinfo.is_valid_short_number_for_region(number, REGION):
        return str(number.national_number)  # +86 95588 is 95588
    return ("+" if plus else "") + digits


def _dash_extension(base: str, digits: str, plus: bool) -> tuple[str, str | None]:
    """``0755-8601 3388-8001``: the last dash group is an extension when the rest is a whole landline.

    Only when the digits together are no valid number and the part before is a whole valid
    number, so a number merely written in dashed groups is never cut and nothing is glued on.
    """
    head, dash, tail = base.rpartition("-")
    if not dash or not re.fullmatch(r"\s*\d{1,6}\s*", tail):
        return base, None
    whole = _parsed(digits, plus)
    if whole is not None and phonenumbers.is_valid_number(whole):
        return base, None
    number = _parsed(re.sub(r"\D", "", head), plus)
    if number is None or not phonenumbers.is_valid_number(number):
        return base, None
    return head, tail.strip()


def normalize(text: str | None) -> str:
    """The stored form for a lookup: :func:`canonical`, or for a non-number the text compacted as before.

    A lookup never fails (a number with letters simply finds no one); an old stored value
    that was never a number still finds its customer.
    """
    try:
        return canonical(text)
    except PhoneError:
        return re.sub(r"[\s\-.()]", "", clean(text))


def display(stored: str | None) -> str:
    """A stored phone as people read it: China's national grouping (138 0013 8000, 010 8888 6666),
    other countries' international one (+1 650-253-0000); anything else as stored."""
    if not stored or not stored.startswith("+"):
        return stored or ""
    try:
        number = phonenumbers.parse(stored, None)
    except phonenumbers.NumberParseException:
        return stored
    if not phonenumbers.is_valid_number(number):
        return stored
    national = number.country_code == phonenumbers.country_code_for_region(REGION)
    return phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL if national
                                      else PhoneNumberFormat.INTERNATIONAL)


def search_prefix(text: str | None) -> str | None:
    """The stored prefix a partly typed phone (``138001``, ``010 8888``, ``0044 20``) starts with, or None.

    The workspace search finds customers by the beginning of their phone; stored phones
    are E.164, so a national beginning is turned the way :func:`canonical` turns a whole number.
    """
    compact = re.sub(r"[\s\-.()]", "", clean(text))
    if not re.fullmatch(r"\+?\d{2,}", compact):
        return None
    if compact.startswith("+"):
        return compact
    if compact.startswith("00"):
        return "+" + compact[2:]
    return "+86" + (compact[1:] if compact.startswith("0") else compact)
