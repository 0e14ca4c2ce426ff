"""Every route × every persona, generated from the app's route table (issue 14, item 7).

Each (method, route) of the app must have a line in EXPECTED; a new route without one fails
`test_every_route_has_expectations`, so no route escapes the matrix. Path parameters are
filled with client A's (Alice's) records, so for everyone but Alice and the staff entitled
to her record each request asks for something that is not theirs.

Outcomes: "ok" (served: any answer but the four below, e.g. 200, 303 elsewhere, 422 for the
empty form the matrix posts), "login" (303 to the sign-in page, or 401), "403", "404";
"any" for public routes (never a server error). A POST is sent with a valid CSRF token and an
empty form; the world is rebuilt before each POST route, since an allowed POST may change it.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.routes import HTTPRoute

from portal.handlers.embed import embed_csrf_for
from tests.conftest import client_for, empty_all_tables
from tests.security import access_world
from tests.security.access_expected import EXPECTED
from tests.security.access_world import PERSONAS, STAFF
from tests.web import csrf_token

SKIP_METHODS = {"HEAD", "OPTIONS"}


def routes(app: Litestar) -> list[str]:
    out = []
    for route in app.routes:
        if isinstance(route, HTTPRoute):
            for method in sorted(route.route_handler_map):
                if method not in SKIP_METHODS:
                    out.append(f"{method} {route.path}")
    return sorted(out)


def outcome(response) -> str:  # noqa: ANN001 - an httpx response
    status = response.status_code
    if status == 401 or (
        status in (302, 303, 307) and response.headers.get("location", "").startswith("/login")
    ):
        return "login"
    if status in (403, 404):
        return str(status)
    if status >= 500:
        return "error"
    return "ok"


def test_every_route_has_expectations(app):
    missing = [r for r in routes(app) if r not in EXPECTED]
    stale = [r for r in EXPECTED if r not in routes(app)]
    assert not missing, "routes without access expectations:\n" + "\n".join(missing)
    assert not stale, "expectations for routes that no longer exist:\n" + "\n".join(stale)
    for key, expected in EXPECTED.items():
        assert set(expected) == set(PERSONAS), key


async def ask(app, world, persona: str, method: str, path: str, token: str):  # noqa: ANN001
    async with client_for(app) as http:
        http.cookies.set("csrftoken", token[0])
        if persona != "anon":
            http.cookies.set("portal_session", world.tokens[persona])
        url = world.fill(path)
        headers = {}
        if path.startswith("/embed/"):  # as the routes are used: by htmx, with their own token
            headers["HX-Request"] = "true"
            if persona != "anon":
                headers["x-embed-csrf"] = embed_csrf_for(
                    app.state["settings"].secret(), world.tokens[persona]
                )
        if method == "GET":
            return await http.get(url, headers=headers)
        return await http.request(
            method,
            url,
            data={"_csrf_token": token[1]},
            headers={"x-csrftoken": token[1], **headers},
        )


async def csrf_pair(app) -> tuple[str, str]:  # noqa: ANN001
    async with client_for(app) as http:
        value = await csrf_token(http)
        return http.cookies.get("csrftoken"), value


async def run_matrix(app, settings) -> dict[str, dict[str, str]]:  # noqa: ANN001
    """What each persona gets on each route. Before a POST the world is rebuilt when the
    previous POST was served, since a served POST may have changed it."""
    world = await access_world.build(settings)
    token = await csrf_pair(app)
    got: dict[str, dict[str, str]] = {}
    for key in routes(app):
        method, path = key.split(" ", 1)
        got[key] = {}
        dirty = method != "GET"
        for persona in PERSONAS:
            if dirty:
                await empty_all_tables(settings)
                world = await access_world.build(settings)
            answer = outcome(await ask(app, world, persona, method, path, token))
            got[key][persona] = answer
            dirty = method != "GET" and answer == "ok"
    return got


async def test_each_persona_gets_what_the_policy_says(app, settings):
    wrong = []
    matrix = await run_matrix(app, settings)
    for key, row in matrix.items():
        for persona, got in row.items():
            expected = EXPECTED.get(key, {}).get(persona, "any")
            if got == "error" or (expected != "any" and got != expected):
                wrong.append(f"{key} as {persona}: expected {expected}, got {got}")
    if wrong:  # the whole matrix as it stands, to review (or paste from) when adding routes
        print(*(f"    {key!r}: {row}," for key, row in matrix.items()), sep="\n")
    assert not wrong, "\n".join(wrong)


assert set(STAFF) < set(PERSONAS)
