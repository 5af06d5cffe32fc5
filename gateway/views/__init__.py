"""Materialised views per audience, and the published types they are made of."""

from gateway.views.cache import AudienceViews, RenderedView, Served, ViewCache, build_views
from gateway.views.refresher import Refresher

__all__ = ["AudienceViews", "Refresher", "RenderedView", "Served", "ViewCache", "build_views"]
