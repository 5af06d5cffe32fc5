"""Materialised views per audience, and the published types they are made of."""

from gateway.views.cache import AudienceViews, RenderedView, ViewCache, build_views
from gateway.views.refresher import Refresher

__all__ = ["AudienceViews", "Refresher", "RenderedView", "ViewCache", "build_views"]
