"""A prepared select answers what the same Piccolo query answers, for every set of values."""

from __future__ import annotations

from datetime import timedelta

import pytest

from portal.core.clock import utcnow
from portal.core.db import Prepared
from portal.tables import Client
from tests import factories


async def test_prepared_select_binds_new_values_each_run():
    p = await factories.practice()
    for name in ("alice", "bob", "carol"):
        await factories.client(p, name, first_name=name.title())
    built = []

    def query(practice, first):
        built.append(1)
        return (
            Client.select(Client.first_name)
            .where(Client.practice == practice, Client.first_name != first)
            .order_by(Client.first_name)
        )

    prepared = Prepared(Client, query)
    for skip in ("Alice", "Bob", "Nobody"):
        expected = await query(p, skip)
        assert await prepared.run(p, skip) == expected
    assert len(built) == 1 + 3  # compiled once; the other three are the comparisons
    assert await prepared.run(p + 1, "Alice") == []


def test_every_parameter_must_be_used():
    prepared = Prepared(
        Client, lambda practice, unused: Client.select().where(Client.practice == practice)
    )
    with pytest.raises(ValueError, match="every parameter"):
        prepared._compile("sqlite")


async def test_times_bind_like_the_orm_does():
    p = await factories.practice()
    await factories.client(p, "alice")
    prepared = Prepared(
        Client, lambda after: Client.select(Client.id).where(Client.created_at > after)
    )
    assert len(await prepared.run(utcnow() - timedelta(days=1))) == 1
    assert await prepared.run(utcnow() + timedelta(days=1)) == []
