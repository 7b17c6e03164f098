"""The fixed list of reasons a submission can fail with.

A failed submission only ever shows one of these sentences: never a parser message, a metric's
exception text or anything else that could quote a closed-set reference value.
"""

TOO_LARGE = "the upload is larger than the size limit"
NOT_ZIP = "the upload is not a zip archive"
UNSAFE_MEMBER = "the archive has an unsafe member (absolute path, '..', backslash, link or duplicate)"
TOO_MANY_FILES = "the archive has more files than allowed"
TOO_BIG_UNPACKED = "the archive unpacks to more than allowed"
NO_PREDICTIONS = "no predictions found (expected run.json and <task_id>.jsonl files)"
UNKNOWN_TASK = "a predictions file names a task that is not in the benchmark"
MALFORMED = "a predictions file is malformed (bad JSON, ids or value types)"
SCORING_FAILED = "scoring failed on the server (the operators have been told)"
QUEUE_TIMEOUT = "waited too long in the queue"
WORKER_LOST = "scoring workers stopped repeatedly on this submission"

ALL = (TOO_LARGE, NOT_ZIP, UNSAFE_MEMBER, TOO_MANY_FILES, TOO_BIG_UNPACKED, NO_PREDICTIONS,
       UNKNOWN_TASK, MALFORMED, SCORING_FAILED, QUEUE_TIMEOUT, WORKER_LOST)
