"""The command line of benchmark scripts timed by repeats: --repeats, --seconds, --json."""

import argparse
import json


def run(description, measure, print_table):
    """Parse the options, run ``measure(seconds, repeats)`` and print its records.

    With ``--json`` the records are printed as one JSON list (what ``make bench`` reads),
    otherwise ``print_table(records)`` shows them.
    """
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=0.3)
    parser.add_argument("--json", action="store_true", help="print a JSON list of records")
    args = parser.parse_args()
    records = measure(args.seconds, args.repeats)
    if args.json:
        print(json.dumps(records))
    else:
        print_table(records)
