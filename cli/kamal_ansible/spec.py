"""Options and commands as data: one description feeds argparse and the Thor-style help."""
import argparse
import dataclasses
from typing import Callable, Optional, Tuple

from kamal_ansible.errors import CliError


@dataclasses.dataclass
class Opt:
    flags: Tuple[str, ...]              # ("-s", "--since"): the short one first, as Thor prints them
    help: str
    metavar: Optional[str] = None       # None: a switch
    dest: Optional[str] = None
    required: bool = False
    append: bool = False
    array: bool = False                 # Thor's array option: the words after it, up to the next option
    default_note: Optional[str] = None  # printed as Thor's "# Default: ..."
    type: Callable = str

    @property
    def key(self):
        return self.dest or self.flags[-1].lstrip("-").replace("-", "_")

    @property
    def takes_value(self):
        return self.metavar is not None

    def add_to(self, parser):
        kwargs = {"dest": self.key, "help": self.help}
        if self.takes_value:
            kwargs.update(metavar=self.metavar, type=self.type, required=self.required)
            kwargs["action"] = "append" if self.append else "store"
            if self.array:
                kwargs.update(action="extend", nargs="+")
        else:
            kwargs["action"] = "store_true"
        parser.add_argument(*self.flags, **kwargs)

    def usage(self):
        """Thor's left column: `-s, [--since=SINCE]`, `    [--rolling]`, `-m, --message=MESSAGE`."""
        shorts = [f for f in self.flags if not f.startswith("--")]
        longs = [f for f in self.flags if f.startswith("--")]
        value = "=%s" % self.metavar if self.takes_value else ""
        if self.required:
            text = ", ".join("%s%s" % (f, value) for f in longs)
        else:
            text = ", ".join("[%s%s]" % (f, value) for f in longs)
        return ("%s, " % shorts[0] if shorts else "    ") + text


@dataclasses.dataclass
class Command:
    path: Tuple[str, ...]               # ("app", "logs")
    summary: str
    build: Callable                     # (args, ctx) -> Plan
    options: Tuple[Opt, ...] = ()
    args: str = ""                      # shown after the name in help: "[VERSION]", "NAME", "[CMD...]"
    positionals: Tuple[Tuple[str, str], ...] = ()   # (dest, nargs) for argparse
    runs: str = ""                      # what it becomes, for help and docs
    free_args: bool = False             # Thor-style: unknown words (and -x) are the command to execute
    destructive: Optional[str] = None   # the confirmation question, without "Are you sure?"

    @property
    def name(self):
        return " ".join(self.path)


class Parser(argparse.ArgumentParser):
    """argparse without its exit(2): errors become the CLI's errors (exit 1, like Thor)."""

    def error(self, message):
        raise CliError('"kamal-ansible %s": %s' % (self.prog, message))
