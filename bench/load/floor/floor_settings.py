"""The production settings with the floor endpoint's URLs added (bench/load/floor.py only)."""
from config.settings.production import *  # noqa: F403

ROOT_URLCONF = "floor_urls"
