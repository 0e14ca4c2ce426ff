"""Error pages keep the practice's name in the header (they said "Client portal")."""

from __future__ import annotations

from tests import factories
from tests.web import sign_in


async def test_a_missing_page_and_a_foreign_id_show_the_practices_name(http):
    p = await factories.practice(name="Harbor Counseling", two_factor_policy="nobody")
    await factories.client(p, "alice")
    await sign_in(http, "alice")
    await http.get("/")  # the practice is read with every page
    for path in ("/no-such-page", "/forms/999999"):
        r = await http.get(path)
        assert r.status_code == 404
        header = r.text.split("</header>", 1)[0]
        assert "Harbor Counseling" in header and "Client portal" not in header
