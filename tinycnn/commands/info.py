from __future__ import annotations

import json


def register(sub):
    p = sub.add_parser("info", help="layers, shapes, dtypes, params, MACs and size of a blob",
                       description="Describe a .tcnn blob layer by layer (the blob is validated first).")
    p.add_argument("blob", help=".tcnn file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=run)


def run(args):
    import tinycnn
    from tinycnn.report import format_info

    d = tinycnn.info(args.blob)
    if args.json:
        print(json.dumps({k: v for k, v in d.items()}, default=str, indent=1))
    else:
        print(format_info(d))
    return 0
