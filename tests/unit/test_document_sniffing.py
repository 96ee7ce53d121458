"""Unit tests of the pure document helpers: what a file is (by content), what it is called."""

from __future__ import annotations

from datetime import UTC
from datetime import date
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from umic.casefiles.documents import NAME_MAX
from umic.casefiles.documents import clean_filename
from umic.casefiles.documents import day_start
from umic.casefiles.documents import deadline_end
from umic.casefiles.documents import download_name
from umic.casefiles.documents import size_text
from umic.casefiles.documents import sniff

MADRID = ZoneInfo("Europe/Madrid")


# --- sniff: the first bytes decide, nothing else -------------------------------------------


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "application/pdf"),
        (b"%PDF-", "application/pdf"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", "image/jpeg"),
        (b"\xff\xd8\xff\xe1\x00\x18Exif\x00\x00", "image/jpeg"),  # a phone photo
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "image/png"),
        (b"\x89PNG\r\n\x1a\n", "image/png"),
    ],
)
def test_pdf_jpeg_and_png_are_recognised_by_their_first_bytes(head, expected):
    assert sniff(head) == expected


@pytest.mark.parametrize(
    "head",
    [
        b"",
        b"<!doctype html><html><script>alert(1)</script>",  # a web page called factura.pdf
        b"MZ\x90\x00\x03\x00\x00\x00",  # a Windows program
        b"\x7fELF\x02\x01\x01\x00",  # a Linux program
        b"#!/bin/sh\necho hi\n",
        b"PK\x03\x04\x14\x00\x06\x00",  # a zip (or .docx)
        b"GIF89a\x01\x00\x01\x00",  # an image, but not one we accept
        b"RIFF\x24\x00\x00\x00WEBPVP8 ",
        b"%PDF",  # cut short: not the whole signature
        b"%pdf-1.4",  # the signature is case-sensitive
        b" %PDF-1.4",  # ... and must come first
        b"\xef\xbb\xbf%PDF-1.4",  # not even after a byte-order mark
        b"\x89PNG\r\n\x1a",  # one byte short
        b"\x89PNG\n\x1a\n\x00",  # line endings mangled by a text transfer
        b"\xff\xd8\x00",
    ],
)
def test_anything_else_is_not_recognised(head):
    assert sniff(head) is None


# --- names ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("factura.pdf", "factura.pdf"),
        ("factura_març 2025.pdf", "factura_març 2025.pdf"),  # accents and spaces stay
        ("C:\\Users\\Raúl\\Documents\\contracte.pdf", "contracte.pdf"),
        ("../../etc/passwd", "passwd"),
        ("/tmp/../x/../../.bashrc", "bashrc"),
        ("...", "document.pdf"),
        ("", "document.pdf"),
        (None, "document.pdf"),
        ("fac\x00tu\x1bra.pdf", "fac_tu_ra.pdf"),
        ('a<b>c:d"e|f?g*h.pdf', "a_b_c_d_e_f_g_h.pdf"),
        ("factura\u202efdp.exe", "facturafdp.exe"),  # no right-to-left override
        ("  molts   espais  .pdf ", "molts espais .pdf"),
        ("foto.pdf.", "foto.pdf"),
    ],
)
def test_file_names_lose_folders_and_unsafe_characters(given, expected):
    assert clean_filename(given, "application/pdf") == expected


def test_a_name_without_anything_usable_gets_the_extension_of_its_real_type():
    assert clean_filename("", "image/png") == "document.png"
    assert clean_filename("/", "image/jpeg") == "document.jpg"


def test_long_names_are_cut_to_the_column_size_keeping_the_extension():
    name = clean_filename("a" * 500 + ".pdf", "application/pdf")
    assert len(name) == NAME_MAX
    assert name.endswith("a.pdf")
    no_extension = clean_filename("b" * 500, "application/pdf")
    assert no_extension == "b" * NAME_MAX


def test_a_download_keeps_its_name_when_the_extension_matches_the_content():
    assert download_name("factura.pdf", "application/pdf") == "factura.pdf"
    assert download_name("FOTO.JPEG", "image/jpeg") == "FOTO.JPEG"
    assert download_name("dni.jpg", "image/jpeg") == "dni.jpg"
    assert download_name("captura.png", "image/png") == "captura.png"


def test_a_download_gets_the_extension_of_its_real_type_when_the_name_lies():
    assert download_name("factura.pdf", "image/png") == "factura.pdf.png"
    assert download_name("contracte", "application/pdf") == "contracte.pdf"
    assert download_name("foto.png", "image/jpeg") == "foto.png.jpg"


# --- sizes and deadlines ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        (10 * 1024 * 1024, "10 MB"),
        (int(2.5 * 1024 * 1024), "2,5 MB"),
        (1024 * 1024, "1 MB"),
        (340 * 1024, "340 kB"),
        (1025, "2 kB"),  # rounded up: never says less than it is
        (1024, "1 kB"),
        (12, "12 bytes"),
    ],
)
def test_sizes_are_written_as_people_read_them(size, expected):
    assert size_text(size, "ca") == expected


def test_a_deadline_ends_at_midnight_madrid_time_in_summer_and_in_winter():
    # 28 May (CEST, UTC+2): over at 29 May 00:00 Madrid = 28 May 22:00 UTC.
    assert deadline_end(date(2025, 5, 28), MADRID) == datetime(2025, 5, 28, 22, 0, tzinfo=UTC)
    # 15 January (CET, UTC+1): over at 23:00 UTC.
    assert deadline_end(date(2026, 1, 15), MADRID) == datetime(2026, 1, 15, 23, 0, tzinfo=UTC)


def test_a_deadline_on_the_day_clocks_change_still_ends_at_local_midnight():
    # 29 March 2025 ends at 30 March 00:00 CET (before the 02:00 change) = 29 March 23:00 UTC.
    assert deadline_end(date(2025, 3, 29), MADRID) == datetime(2025, 3, 29, 23, 0, tzinfo=UTC)
    # 26 October 2025 is 25 hours long; it ends at 27 October 00:00 CET = 26 October 23:00 UTC.
    assert deadline_end(date(2025, 10, 26), MADRID) == datetime(2025, 10, 26, 23, 0, tzinfo=UTC)
    assert day_start(date(2025, 10, 26), MADRID) == datetime(2025, 10, 25, 22, 0, tzinfo=UTC)
