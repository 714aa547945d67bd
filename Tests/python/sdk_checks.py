"""What the SDK check scripts share: one line per check, exit on the first failure."""
import sys


def check(name, condition, detail=""):
    print(("ok   " if condition else "FAIL ") + name + (": " + detail if detail and not condition else ""))
    if not condition:
        sys.exit(1)


def expect_error(name, cls, call):
    """Runs `call`, which must raise `cls`; returns the error."""
    try:
        call()
    except cls as error:
        check(name, True)
        return error
    except Exception as error:  # noqa: BLE001 - any other class is the failure being checked
        check(name, False, "%s: %s" % (type(error).__name__, error))
    check(name, False, "no error")
