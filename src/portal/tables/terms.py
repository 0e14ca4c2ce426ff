"""Terms of service: published versions, and who accepted which when."""

from piccolo.columns import ForeignKey, OnDelete, Text, Timestamptz, Varchar
from piccolo.table import Table

from portal.tables.accounts import User


class TermsVersion(Table):
    version = Varchar(length=40, unique=True)
    title = Varchar(length=200, default="Terms of service")
    # The terms as Markdown-free plain paragraphs (blank line between paragraphs).
    body = Text()
    published_at = Timestamptz(index=True)


class TermsAcceptance(Table):
    user = ForeignKey(User, on_delete=OnDelete.cascade, null=False, index=True)
    terms = ForeignKey(TermsVersion, on_delete=OnDelete.restrict, null=False)
    accepted_at = Timestamptz()
    ip = Varchar(length=45, default="")
