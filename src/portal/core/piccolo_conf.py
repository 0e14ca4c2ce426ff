"""Piccolo's configuration module: the engine from the portal's settings."""

from piccolo.conf.apps import AppRegistry

from portal.core.db import make_engine
from portal.settings import load

DB = make_engine(load())

APP_REGISTRY = AppRegistry(apps=["portal.tables.piccolo_app"])
