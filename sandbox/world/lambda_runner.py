"""The hub's Lambda functions, run in this process as the Lambda service would run them.

moto cannot run a Lambda target of an EventBridge rule. For each function of the hub template the runner
takes what Lambda would use: the ``Handler`` string, the ``Environment`` (with ``Ref``/``GetAtt`` resolved to
the deployed names), the execution ``Role`` (assumed, so the code acts as the hub account), and the
asynchronous invocation settings (retries, on-failure destination). ``invoke`` imports the handler by name
and calls it with the event, inside that environment. Effects go to the embedded AWS.
"""

from __future__ import annotations

import contextlib
import copy
import importlib
import logging
import os
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3

from sandbox.world.identities import Identity, assume_role
from sandbox.world.template import TemplateResolver, referenced_logical_id

DEFAULT_ASYNC_RETRIES = 2  # Lambda's default for asynchronous invocations
LAMBDA_SERVICE = "lambda.amazonaws.com"  # the principal that assumes an execution role


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    name: str
    arn: str
    handler: str
    environment: dict[str, str]
    role_arn: str
    timeout_seconds: int
    memory_mb: int
    log_group: str
    retry_attempts: int = DEFAULT_ASYNC_RETRIES
    on_failure_arn: str = ""  # the destination of an event whose invocations all failed


def _event_invoke_configs(resolver: TemplateResolver) -> dict[str, dict[str, Any]]:
    configs = {}
    for logical_id, _ in resolver.of_type("AWS::Lambda::EventInvokeConfig"):
        properties = resolver.properties(logical_id)
        function = referenced_logical_id(properties.get("FunctionName"))
        if function is not None:
            configs[function] = properties
    return configs


def function_specs(resolver: TemplateResolver) -> dict[str, FunctionSpec]:
    """Every ``AWS::Lambda::Function`` of the template, by logical id, as the Lambda service sees it."""
    configs = _event_invoke_configs(resolver)
    specs = {}
    for logical_id, _ in resolver.of_type("AWS::Lambda::Function"):
        properties = resolver.properties(logical_id)
        config = configs.get(logical_id, {})
        on_failure = config.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
        variables = properties.get("Environment", {}).get("Variables", {})
        name = resolver.ref(logical_id)
        log_group = properties.get("LoggingConfig", {}).get("LogGroup")
        specs[logical_id] = FunctionSpec(
            logical_id=logical_id,
            name=name,
            arn=resolver.get_att(logical_id, "Arn"),
            handler=str(properties["Handler"]),
            environment={k: str(v) for k, v in resolver.resolve(variables).items()},
            role_arn=str(resolver.resolve(properties["Role"])),
            timeout_seconds=int(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
            log_group=str(resolver.resolve(log_group)) if log_group is not None else f"/aws/lambda/{name}",
            retry_attempts=int(config.get("MaximumRetryAttempts", DEFAULT_ASYNC_RETRIES)),
            on_failure_arn=str(resolver.resolve(on_failure)) if on_failure is not None else "",
        )
    return specs


@dataclass
class LambdaContext:
    """The context object Lambda passes to a Python handler (the attributes handlers use)."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    function_version: str = "$LATEST"
    _started: float = field(default_factory=time.monotonic)

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


def load_handler(handler: str) -> Callable[[Any, Any], Any]:
    """``handlers.adapters.guardrail.handler`` -> the function, as Lambda's Python runtime resolves it."""
    module_name, _, attribute = handler.rpartition(".")
    if not module_name:
        raise ValueError(f"handler {handler!r} must be MODULE.FUNCTION")
    function = getattr(importlib.import_module(module_name), attribute)
    if not callable(function):
        raise TypeError(f"handler {handler!r} is not callable")
    return function  # type: ignore[no-any-return]


@contextlib.contextmanager
def environment(variables: dict[str, str]) -> Iterator[None]:
    """Set ``variables`` for the block and put back exactly what was there before."""
    saved = {k: os.environ.get(k) for k in variables}
    os.environ.update(variables)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def cold_start() -> None:
    """Forget what the handler modules keep between invocations (a warm execution environment).

    A new sandbox is a new deployment: its functions start cold, so nothing built for an earlier embedded
    AWS (clients pointing at a stopped endpoint, credentials of another hub, found admin groups) is reused.
    Everything a warm function keeps is on its runtime, so resetting the runtime holders is enough.
    """
    from handlers import digest, engine
    from handlers.adapters import canary, reconcile

    for holder in (engine.RUNTIME, reconcile.RUNTIME, canary.RUNTIME, digest.RUNTIME):
        holder.reset()


class LambdaRunner:
    """Invokes the template's functions in-process with their environment and execution role."""

    def __init__(self, lambda_service: boto3.Session, resolver: TemplateResolver) -> None:
        self._service = lambda_service  # whose credentials assume the execution roles, as Lambda does
        self.region = resolver.region
        self.functions = function_specs(resolver)
        self._by_arn = {spec.arn: spec for spec in self.functions.values()}
        self._roles: dict[str, Identity] = {}  # function name -> its execution role's session
        self._logs: dict[str, Any] = {}  # function name -> CloudWatch Logs client
        self._lock = threading.Lock()  # one invocation at a time: the environment is process-wide
        cold_start()

    def by_arn(self, arn: str) -> FunctionSpec:
        if arn not in self._by_arn:
            raise KeyError(f"the hub template has no function {arn}")
        return self._by_arn[arn]

    def _execution_role(self, spec: FunctionSpec) -> Identity:
        """The function's credentials: Lambda assumes the execution role with the function's name as session."""
        if spec.name not in self._roles:
            account = spec.role_arn.split(":")[4]
            role_name = spec.role_arn.rsplit("/", 1)[-1]
            self._roles[spec.name] = assume_role(self._service, account, role_name, spec.name, self.region)
        return self._roles[spec.name]

    def execution_session(self, spec: FunctionSpec) -> boto3.Session:
        """The function's execution role, as Lambda uses it for the function's destinations and logs."""
        return self._execution_role(spec).session(self.region)

    def runtime_environment(self, spec: FunctionSpec) -> dict[str, str]:
        """What the Lambda runtime sets: the function's variables, its role's credentials, its identity."""
        return {
            **spec.environment,
            **self._execution_role(spec).environment(),
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_LOG_GROUP_NAME": spec.log_group,
            "_HANDLER": spec.handler,
        }

    def invoke(self, spec: FunctionSpec, event: dict[str, Any]) -> Any:
        """One invocation; the handler's exception propagates (the caller decides about retries).

        What the handler logs goes to the function's log group, as Lambda sends it to CloudWatch Logs.
        """
        with self._lock:
            variables = self.runtime_environment(spec)
            context = LambdaContext(spec.name, spec.arn, spec.memory_mb, spec.timeout_seconds,
                                    log_group_name=spec.log_group)
            captured = _CapturedLog()
            root = logging.getLogger()
            root.addHandler(captured)
            try:
                with environment(variables):
                    result = load_handler(spec.handler)(copy.deepcopy(event), context)
            except Exception:
                root.removeHandler(captured)
                self._ship_logs(spec, context, [*captured.lines, "[ERROR] " + traceback.format_exc()])
                raise
            root.removeHandler(captured)
            self._ship_logs(spec, context, captured.lines)
            return result

    def _ship_logs(self, spec: FunctionSpec, context: LambdaContext, lines: list[str]) -> None:
        """One log stream per invocation; the group is created when missing, as Lambda does."""
        if spec.name not in self._logs:
            self._logs[spec.name] = self._execution_role(spec).session(self.region).client("logs")
        logs = self._logs[spec.name]
        group = context.log_group_name
        stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{context.aws_request_id.replace('-', '')}"
        now = int(time.time() * 1000)
        messages = [f"START RequestId: {context.aws_request_id} Version: $LATEST", *lines,
                    f"END RequestId: {context.aws_request_id}"]
        try:
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        except logs.exceptions.ResourceNotFoundException:  # Lambda creates a missing group, if the role may
            logs.create_log_group(logGroupName=group)
            logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(logGroupName=group, logStreamName=stream,
                            logEvents=[{"timestamp": now, "message": m} for m in messages])


class _CapturedLog(logging.Handler):
    """Collects what a handler logs during one invocation (Lambda's runtime does the same with stdout)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("[%(levelname)s] %(name)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))
