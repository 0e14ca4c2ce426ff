"""Template filters: how times and zones read to a client."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from portal.core.templating import zone_name


def test_zones_read_as_people_name_them():
    assert zone_name(ZoneInfo("America/New_York")) == "Eastern Time"
    assert zone_name(ZoneInfo("America/Los_Angeles")) == "Pacific Time"
    assert zone_name(ZoneInfo("Europe/Isle_of_Man")) == "Isle of Man time"
