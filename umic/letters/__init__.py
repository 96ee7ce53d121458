"""Letters the service writes (issue 14): texts with versions, PDFs, sending them.

``issue_letter`` and ``send_letter`` are the entry points other parts call; the PDF layout is
umic.letters.render, the shipped texts umic.letters.defaults, the template language
umic.letters.text.
"""

from ..mail import outbox as _outbox
from .service import LetterError
from .service import issue_letter
from .service import read_document
from .service import send_letter

# Letters go out as attachments: the outbox reads their files through this.
_outbox.document_reader = read_document

__all__ = ["LetterError", "issue_letter", "send_letter"]
