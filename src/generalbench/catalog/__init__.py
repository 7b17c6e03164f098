"""The General-Bench task catalog, as data."""

from generalbench.catalog.catalog import CATALOG_VERSION, Catalog, load_catalog
from generalbench.catalog.task import MODALITIES, SHEET_NAMES, Task, make_task_id

__all__ = ["CATALOG_VERSION", "MODALITIES", "SHEET_NAMES", "Catalog", "Task", "load_catalog",
           "make_task_id"]
