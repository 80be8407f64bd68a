"""What is non-deterministic, in one table: qualified name -> rule code, condition, replacement.

Rules decide *where* a name is forbidden (workflow code, which dialect); this module says *what*
is forbidden and what to use instead in each dialect. Entries match a qualified name exactly or,
for entries ending in ``.*``, every name under that prefix (the longest match wins, so
``threading.Timer`` can be a sleep while the rest of ``threading`` is concurrency).

Conditions let one entry stay precise: ``no_time_arg`` (``time.ctime()`` reads the clock,
``time.ctime(ts)`` does not), ``unseeded`` (``random.Random()`` but not ``random.Random(42)``),
``not_temporal`` (``asyncio.sleep`` is a durable timer inside Temporal's event loop),
``over_durable`` (``asyncio.gather`` only matters when it races durable calls), ``blocking``
(``queue.get(block=False)`` does not wait).

Fix templates use ``{ctx}`` (the wfkit context variable), ``{wf}`` (the name Temporal's
``workflow`` module is bound to), ``{dbos}`` (the name ``dbos.DBOS`` is bound to) and
``{args}`` (the original arguments' source).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

WFKIT, TEMPORAL, DBOS = "wfkit", "temporal", "dbos"
DIALECTS = (WFKIT, TEMPORAL, DBOS)


@dataclass(frozen=True)
class Replacement:
    """A safe rewrite of a call, per dialect; ``await_needed`` means only inside ``async def``."""

    template: str
    needs: str = ""  # "ctx", "wf" or "dbos": which name the template needs bound
    async_only: bool = False
    # Used instead of ``template`` inside ``async def`` (DBOS.sleep raises in an async workflow:
    # there it is ``await DBOS.sleep_async(...)``).
    async_template: str = ""
    # Why the rewrite may change what the program does (empty: it does not). Such a fix is
    # applied only with --unsafe-fixes, and the reason is documented on the rule's page.
    unsafe: str = ""


@dataclass(frozen=True)
class Entry:
    """One non-deterministic name (or prefix) and how each dialect avoids it."""

    code: str
    condition: str = ""
    use: Mapping[str, str] = field(default_factory=dict)  # dialect -> advice text
    fix: Mapping[str, Replacement] = field(default_factory=dict)
    use_async: Mapping[str, str] = field(default_factory=dict)  # advice inside async def


_CLOCK_USE = {
    WFKIT: "ctx.now()",
    TEMPORAL: "workflow.now()",
    DBOS: "a @DBOS.step() that reads the clock",
}
_UUID_USE = {
    WFKIT: "ctx.uuid4()",
    TEMPORAL: "workflow.uuid4()",
    DBOS: "a @DBOS.step() that makes the id",
}
_RANDOM_USE = {
    WFKIT: "ctx.random()",
    TEMPORAL: "workflow.random()",
    DBOS: "a @DBOS.step() that draws it",
}
_SLEEP_USE = {
    WFKIT: "ctx.sleep()",
    TEMPORAL: "workflow.sleep() / asyncio.sleep()",
    DBOS: "DBOS.sleep()",
}
_STEP_USE = {WFKIT: "a @step", TEMPORAL: "an activity", DBOS: "a @DBOS.step()"}
_INPUT_USE = {
    WFKIT: "a workflow input or a value read in a @step",
    TEMPORAL: "a workflow input or a value read in an activity",
    DBOS: "a workflow input or a value read in a @DBOS.step()",
}
_CONC_USE = {
    WFKIT: "ctx.parallel()",
    TEMPORAL: "workflow.wait() / asyncio.gather()",
    DBOS: "DBOS.start_workflow() handles",
}
_WAIT_USE = {
    WFKIT: "ctx.wait_for_event() / ctx.sleep()",
    TEMPORAL: "workflow.wait_condition()",
    DBOS: "DBOS.recv()",
}
_WAIT_USE_ASYNC = {DBOS: "await DBOS.recv_async()"}
_SORT_USE = {d: "sorted(...)" for d in DIALECTS}
_HASH_USE = {d: "a stable key (e.g. hashlib of a canonical encoding)" for d in DIALECTS}
_LOG_USE = {WFKIT: "ctx.logger", TEMPORAL: "workflow.logger", DBOS: "DBOS.logger"}

# The workflow clock is timezone-aware (UTC); datetime.now() / utcnow() / today() are naive, so
# code that compares or subtracts the result with other naive datetimes would raise TypeError.
_AWARE = (
    "the workflow clock's datetime is timezone-aware (UTC), this one is naive: comparing "
    "it with naive datetimes raises TypeError"
)
_UTC_DATE = "the workflow clock's date is the date in UTC, date.today() the local one"
# A fix that adds a durable operation changes what runs record from here on: a run recorded
# before the fix has no operation at that place and stops replaying (NonDeterminismError).
ADDS_OPERATION = (
    "it adds a durable timer: runs in flight, recorded without it, stop replaying "
    "at this point; gate it (ctx.patched() / workflow.patched()) or deploy it "
    "only when no run of this workflow is in flight"
)
_NOW_FIX = {
    WFKIT: Replacement("{ctx}.now()", "ctx", unsafe=_AWARE),
    TEMPORAL: Replacement("{wf}.now()", "wf", unsafe=_AWARE),
}
_TODAY_FIX = {
    WFKIT: Replacement("{ctx}.now().date()", "ctx", unsafe=_UTC_DATE),
    TEMPORAL: Replacement("{wf}.now().date()", "wf", unsafe=_UTC_DATE),
}
_TS_FIX = {
    WFKIT: Replacement("{ctx}.now().timestamp()", "ctx"),
    TEMPORAL: Replacement("{wf}.now().timestamp()", "wf"),
}
_SLEEP_FIX = {
    WFKIT: Replacement("{ctx}.sleep({args})", "ctx", unsafe=ADDS_OPERATION),
    TEMPORAL: Replacement("await {wf}.sleep({args})", "wf", async_only=True, unsafe=ADDS_OPERATION),
    DBOS: Replacement(
        "{dbos}.sleep({args})",
        "dbos",
        async_template="await {dbos}.sleep_async({args})",
        unsafe=ADDS_OPERATION,
    ),
}
_ASLEEP_FIX = {
    WFKIT: Replacement("{ctx}.sleep({args})", "ctx", unsafe=ADDS_OPERATION),
    DBOS: Replacement("{dbos}.sleep_async({args})", "dbos", unsafe=ADDS_OPERATION),
}
_SLEEP_USE_ASYNC = {DBOS: "await DBOS.sleep_async()"}


# Objects whose methods block the worker thread until some other thread acts: class -> {method:
# condition}. Checked on module-level instances (``READY = threading.Event()``), one object that
# every run in the process shares: the wait is not recorded, a replay waits again (or not, if
# another run set it meanwhile), and the worker thread is held. Conditions: ``blocking`` (not
# with ``block=False`` / ``blocking=False``), ``blocking_timeout`` (a lock: only when it waits
# with a timeout, whose outcome depends on timing; a plain acquire is mutual exclusion).
BLOCKING_WAITS: dict[str, dict[str, str]] = {
    **{
        f"{package}.{cls}": methods
        for package in ("threading", "multiprocessing")
        for cls, methods in (
            ("Event", {"wait": ""}),
            ("Condition", {"wait": "", "wait_for": ""}),
            ("Barrier", {"wait": ""}),
            ("Semaphore", {"acquire": "blocking"}),
            ("BoundedSemaphore", {"acquire": "blocking"}),
            ("Lock", {"acquire": "blocking_timeout"}),
            ("RLock", {"acquire": "blocking_timeout"}),
        )
    },
    **{
        f"queue.{cls}": {"get": "blocking"}
        for cls in ("Queue", "LifoQueue", "PriorityQueue", "SimpleQueue")
    },
    "multiprocessing.Queue": {"get": "blocking"},
    "multiprocessing.JoinableQueue": {"get": "blocking"},
}


def _e(
    code: str,
    use: Mapping[str, str],
    condition: str = "",
    fix: Mapping[str, Replacement] | None = None,
    use_async: Mapping[str, str] | None = None,
) -> Entry:
    return Entry(code, condition, use, fix or {}, use_async or {})


BUILTIN: dict[str, Entry] = {
    # WF101 wall clock
    "datetime.datetime.now": _e("WF101", _CLOCK_USE, fix=_NOW_FIX),
    "datetime.datetime.utcnow": _e("WF101", _CLOCK_USE, fix=_NOW_FIX),
    "datetime.datetime.today": _e("WF101", _CLOCK_USE, fix=_NOW_FIX),
    "datetime.date.today": _e("WF101", _CLOCK_USE, fix=_TODAY_FIX),
    "time.time": _e("WF101", _CLOCK_USE, fix=_TS_FIX),
    **{
        f"time.{n}{s}": _e("WF101", _CLOCK_USE)
        for n in ("monotonic", "perf_counter", "process_time", "thread_time")
        for s in ("", "_ns")
    },
    "time.time_ns": _e("WF101", _CLOCK_USE),
    **{
        f"time.{n}": _e("WF101", _CLOCK_USE, "no_time_arg")
        for n in ("localtime", "gmtime", "ctime", "asctime")
    },
    "time.strftime": _e("WF101", _CLOCK_USE, "no_time_arg_after_format"),
    # WF102 unique ids and OS randomness
    "uuid.uuid1": _e("WF102", _UUID_USE),
    "uuid.uuid4": _e(
        "WF102",
        _UUID_USE,
        fix={
            WFKIT: Replacement("{ctx}.uuid4()", "ctx"),
            TEMPORAL: Replacement("{wf}.uuid4()", "wf"),
        },
    ),
    "uuid.uuid6": _e("WF102", _UUID_USE),
    "uuid.uuid7": _e("WF102", _UUID_USE),
    "os.urandom": _e("WF102", _UUID_USE),
    "os.getrandom": _e("WF102", _UUID_USE),
    "secrets.*": _e("WF102", _UUID_USE),
    # WF103 randomness
    "random.*": _e("WF103", _RANDOM_USE),
    "random.random": _e(
        "WF103",
        _RANDOM_USE,
        fix={
            WFKIT: Replacement("{ctx}.random()", "ctx"),
            TEMPORAL: Replacement("{wf}.random().random()", "wf"),
        },
    ),
    "random.Random": _e("WF103", _RANDOM_USE, "unseeded"),
    "random.SystemRandom": _e("WF103", _RANDOM_USE),
    "numpy.random.*": _e("WF103", _RANDOM_USE),
    "numpy.random.default_rng": _e("WF103", _RANDOM_USE, "unseeded"),
    "numpy.random.RandomState": _e("WF103", _RANDOM_USE, "unseeded"),
    "numpy.random.seed": _e("WF103", _RANDOM_USE, "unseeded"),
    # WF104 unordered listings
    **{
        n: _e("WF104", _SORT_USE, "unsorted")
        for n in ("os.listdir", "os.scandir", "os.walk", "glob.glob", "glob.iglob")
    },
    "pathlib.Path.iterdir": _e("WF104", _SORT_USE, "unsorted"),
    "pathlib.Path.glob": _e("WF104", _SORT_USE, "unsorted"),
    "pathlib.Path.rglob": _e("WF104", _SORT_USE, "unsorted"),
    # WF106 per-process values
    "builtins.hash": _e("WF106", _HASH_USE),
    "builtins.id": _e("WF106", _HASH_USE),
    # WF107 sleeping
    "time.sleep": _e("WF107", _SLEEP_USE, fix=_SLEEP_FIX, use_async=_SLEEP_USE_ASYNC),
    "threading.Timer": _e("WF107", _SLEEP_USE),
    "asyncio.sleep": _e(
        "WF107", _SLEEP_USE, "not_temporal", fix=_ASLEEP_FIX, use_async=_SLEEP_USE_ASYNC
    ),
    # a blocking wait on a module-level threading/queue object (see BLOCKING_WAITS)
    **{
        f"{cls}.{method}": _e("WF107", _WAIT_USE, condition, use_async=_WAIT_USE_ASYNC)
        for cls, methods in BLOCKING_WAITS.items()
        for method, condition in methods.items()
    },
    # WF108 I/O
    **{
        n: _e("WF108", _STEP_USE)
        for n in (
            "builtins.open",
            "io.open",
            "os.system",
            "os.popen",
            "os.remove",
            "os.unlink",
            "os.rename",
            "os.replace",
            "os.mkdir",
            "os.makedirs",
            "os.rmdir",
            "os.removedirs",
            "os.stat",
            "os.path.exists",
            "os.path.isfile",
            "os.path.isdir",
            "os.path.getsize",
            "os.path.getmtime",
            "sqlalchemy.create_engine",
        )
    },
    **{
        f"{n}.*": _e("WF108", _STEP_USE)
        for n in (
            "shutil",
            "tempfile",
            "socket",
            "http.client",
            "urllib.request",
            "urllib3",
            "requests",
            "httpx",
            "aiohttp",
            "subprocess",
            "sqlite3",
            "psycopg",
            "psycopg2",
            "asyncpg",
            "pymysql",
            "pymongo",
            "redis",
            "smtplib",
            "ftplib",
            "boto3",
        )
    },
    "pathlib.Path.*": _e("WF108", _STEP_USE),
    # WF109 process environment
    **{
        n: _e("WF109", _INPUT_USE)
        for n in (
            "os.environ",
            "os.environb",
            "os.getenv",
            "os.getenvb",
            "os.getpid",
            "os.getppid",
            "os.getcwd",
            "os.uname",
            "os.cpu_count",
            "sys.argv",
            "sys.orig_argv",
            "socket.gethostname",
            "socket.getfqdn",
            "getpass.getuser",
        )
    },
    "os.environ.*": _e("WF109", _INPUT_USE),
    "platform.*": _e("WF109", _INPUT_USE),
    # which thread runs the body is per process, like the environment (not concurrency)
    **{
        f"threading.{n}": _e("WF109", _INPUT_USE)
        for n in ("current_thread", "get_ident", "get_native_id", "main_thread", "active_count")
    },
    # WF110 threads and racing concurrency
    "threading.*": _e("WF110", _CONC_USE),
    "concurrent.futures.*": _e("WF110", _CONC_USE),
    "multiprocessing.*": _e("WF110", _CONC_USE),
    # DBOS runs a sync step from an async workflow this way: awaited at once, it races nothing
    "asyncio.to_thread": _e("WF110", _CONC_USE, "awaited_not_dbos"),
    "asyncio.wait": _e("WF110", _CONC_USE),
    "asyncio.AbstractEventLoop.run_in_executor": _e("WF110", _CONC_USE),
    "asyncio.as_completed": _e("WF110", _CONC_USE),
    "asyncio.gather": _e("WF110", _CONC_USE, "over_durable_not_temporal"),
    "asyncio.create_task": _e("WF110", _CONC_USE, "over_durable_not_temporal"),
    "asyncio.ensure_future": _e("WF110", _CONC_USE, "over_durable_not_temporal"),
    # WF112 replay-unsafe output (opt-in rule)
    "builtins.print": _e("WF112", _LOG_USE),
    "logging.*": _e("WF112", _LOG_USE),
}

# Method names that are I/O or unordered whatever the receiver's static type (pathlib objects).
PATH_IO_METHODS = frozenset(
    {
        "read_text",
        "write_text",
        "read_bytes",
        "write_bytes",
        "touch",
        "unlink",
        "mkdir",
        "rmdir",
        "open",
        "exists",
        "is_file",
        "is_dir",
        "stat",
        "rename",
        "replace",
    }
)
PATH_LISTING_METHODS = frozenset({"iterdir", "glob", "rglob"})
EXECUTOR_METHODS = frozenset({"run_in_executor"})
LOGGER_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
)

# Durable operations: calling these starts a step, activity, child workflow or timer.
WFKIT_CTX_DURABLE = frozenset({"step", "call", "child", "sleep", "wait_for_event", "parallel"})
TEMPORAL_DURABLE = frozenset(
    {
        "temporalio.workflow.execute_activity",
        "temporalio.workflow.start_activity",
        "temporalio.workflow.execute_activity_method",
        "temporalio.workflow.start_activity_method",
        "temporalio.workflow.execute_activity_class",
        "temporalio.workflow.start_activity_class",
        "temporalio.workflow.execute_local_activity",
        "temporalio.workflow.start_local_activity",
        "temporalio.workflow.execute_local_activity_method",
        "temporalio.workflow.start_local_activity_method",
        "temporalio.workflow.execute_child_workflow",
        "temporalio.workflow.start_child_workflow",
        "temporalio.workflow.sleep",
        "temporalio.workflow.wait_condition",
    }
)
TEMPORAL_NOT_COROUTINE = frozenset(
    {
        "temporalio.workflow.start_activity",
        "temporalio.workflow.start_activity_method",
        "temporalio.workflow.start_activity_class",
        "temporalio.workflow.start_local_activity",
        "temporalio.workflow.start_local_activity_method",
    }
)
TEMPORAL_ACTIVITY_STARTS = frozenset(n for n in TEMPORAL_DURABLE if "activity" in n)
TEMPORAL_TIMEOUT_KEYWORDS = frozenset({"start_to_close_timeout", "schedule_to_close_timeout"})
DBOS_DURABLE = frozenset(
    {
        "dbos.DBOS.sleep",
        "dbos.DBOS.sleep_async",
        "dbos.DBOS.start_workflow",
        "dbos.DBOS.start_workflow_async",
        "dbos.DBOS.recv",
        "dbos.DBOS.recv_async",
        "dbos.DBOS.send",
        "dbos.DBOS.send_async",
    }
)

# Decorators (qualified, called or bare) that make a function workflow code or step code.
WORKFLOW_DECORATORS: dict[str, str] = {
    "wfkit.workflow": WFKIT,
    "dbos.DBOS.workflow": DBOS,
}
TEMPORAL_CLASS_DECORATOR = "temporalio.workflow.defn"
TEMPORAL_HANDLER_DECORATORS = frozenset(
    {
        "temporalio.workflow.run",
        "temporalio.workflow.signal",
        "temporalio.workflow.query",
        "temporalio.workflow.update",
        "temporalio.workflow.init",
    }
)
# Handlers a Temporal workflow registers at run time are workflow code like decorated ones.
# Where each callable argument sits in temporalio.workflow's signatures: (position, keyword);
# ``handler`` is positional or keyword, ``validator`` keyword-only (position None).
TEMPORAL_HANDLER_SETTERS: dict[str, tuple[tuple[int | None, str], ...]] = {
    "temporalio.workflow.set_signal_handler": ((1, "handler"),),
    "temporalio.workflow.set_query_handler": ((1, "handler"),),
    "temporalio.workflow.set_update_handler": ((1, "handler"), (None, "validator")),
    "temporalio.workflow.set_dynamic_signal_handler": ((0, "handler"),),
    "temporalio.workflow.set_dynamic_query_handler": ((0, "handler"),),
    "temporalio.workflow.set_dynamic_update_handler": ((0, "handler"), (None, "validator")),
}
STEP_DECORATORS = frozenset(
    {"wfkit.step", "temporalio.activity.defn", "dbos.DBOS.step", "dbos.DBOS.transaction"}
)
SANDBOX_EXEMPT = "temporalio.workflow.unsafe.sandbox_unrestricted"
REPLAY_GUARD_ATTRS = frozenset({"is_replaying"})

# The frameworks' own packages: a call into them (DBOS.sleep, workflow.execute_activity) is the
# framework's API — a durable operation or a deterministic helper — never workflow code to
# follow, even where the framework's source is in the linted tree (vendored, or linting the
# framework's own repository).
FRAMEWORK_PACKAGES = ("dbos", "temporalio", "wfkit")


def is_framework_api(qualname: str) -> bool:
    return qualname.partition(".")[0] in FRAMEWORK_PACKAGES


# Cheap text markers: a file containing none of these defines no workflow (checked before parsing).
MARKERS = ("workflow", "DBOS")


@dataclass(frozen=True)
class Knowledge:
    """The built-in table merged with the project's ``deterministic``/``nondeterministic`` lists."""

    exact: Mapping[str, Entry]
    prefixes: tuple[tuple[str, Entry], ...]  # longest prefix first
    deterministic: frozenset[str]

    @classmethod
    def build(
        cls, deterministic: Iterable[str] = (), nondeterministic: Iterable[str] = ()
    ) -> Knowledge:
        table = dict(BUILTIN)
        for spec in nondeterministic:
            name, _, code = spec.partition(":")
            table[name.strip()] = _e(code.strip() or "WF108", _STEP_USE)
        exact = {k: v for k, v in table.items() if not k.endswith(".*")}
        prefixes = sorted(
            ((k[:-1], v) for k, v in table.items() if k.endswith(".*")), key=lambda kv: -len(kv[0])
        )
        return cls(exact, tuple(prefixes), frozenset(n.rstrip(".*") for n in deterministic))

    def lookup(self, qualname: str) -> Entry | None:
        """The entry for ``qualname``, or None if it is deterministic (or unknown)."""
        if self.deterministic and any(
            qualname == d or qualname.startswith(d + ".") for d in self.deterministic
        ):
            return None
        hit = self.exact.get(qualname)
        if hit is not None:
            return hit
        for prefix, entry in self.prefixes:
            if qualname.startswith(prefix):
                return entry
        return None


def short_name(qualname: str) -> str:
    """How a finding names a call: the last two parts (``datetime.now``), builtins bare."""
    if qualname.startswith("builtins."):
        return qualname[len("builtins.") :]
    parts = qualname.split(".")
    return ".".join(parts[-2:])
