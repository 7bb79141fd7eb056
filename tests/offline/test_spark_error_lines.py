"""A Spark failure reaches the user as one line saying what went wrong, not which Py4J call failed."""

from __future__ import annotations

from parity.offline import _one_line

# The head of `str(Py4JJavaError)` from `parity check` with `spark_python = "/nonexistent/python3"` (Spark 4.3.0).
WRONG_PYTHON = """An error occurred while calling o81.getResult.
: org.apache.spark.SparkException: Exception thrown in awaitResult: 
\tat org.apache.spark.util.SparkThreadUtils$.awaitResult(SparkThreadUtils.scala:56)
\tat org.apache.spark.security.SocketAuthServer$.serveToStream(SocketAuthServer.scala:121)
Caused by: org.apache.spark.SparkException: Job aborted due to stage failure: Task 0 in stage 0.0 failed 1 times, most recent failure: Lost task 0.0 in stage 0.0 (TID 0) (localhost executor driver): java.io.IOException: Cannot run program "/nonexistent/python3": error=2, No such file or directory
\tat java.base/java.lang.ProcessBuilder.start(ProcessBuilder.java:1143)
Caused by: java.io.IOException: error=2, No such file or directory
"""


def test_a_java_error_through_py4j_is_its_first_cause() -> None:
    assert _one_line(RuntimeError(WRONG_PYTHON)) == (
        'java.io.IOException: Cannot run program "/nonexistent/python3": error=2, No such file or directory')


def test_a_plain_error_is_its_first_line() -> None:
    assert _one_line(ValueError("bad window\\nmore")) == "bad window\\nmore"
    assert _one_line(ValueError("bad window\nmore")) == "bad window"
