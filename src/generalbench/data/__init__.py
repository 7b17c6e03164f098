"""General-Bench data: dataset folders, the typed instance model, media I/O, predictions.

    from generalbench.data import open_dataset
    ds = open_dataset(Path("General-Bench-Openset"), catalog)
    for td in ds.tasks():
        for inst in td.instances(quick=20):
            ...

See docs/data-format.md for the on-disk formats.
"""

from generalbench.data.dataset import (
    Dataset,
    TaskData,
    Unmatched,
    open_dataset,
    quick_select,
)
from generalbench.data.instances import MEDIA_KINDS, Instance, MediaKind, MediaRef
from generalbench.data.native import OUTPUT_TYPES, check_native, load_native
from generalbench.data.predictions import (
    Predictions,
    PredictionWriter,
    read_predictions,
    zip_predictions,
)
from generalbench.data.problems import Problem

__all__ = ["MEDIA_KINDS", "OUTPUT_TYPES", "Dataset", "Instance", "MediaKind", "MediaRef",
           "PredictionWriter", "Predictions", "Problem", "TaskData", "Unmatched", "check_native",
           "load_native", "open_dataset", "quick_select", "read_predictions", "zip_predictions"]
