import sys

from bench import collection, deliveries, einvoice, load, neighbours, pdf, reload, run, statements

COMMANDS = {"deliveries": deliveries.main, "collection": collection.main, "neighbours": neighbours.main,
            "einvoice": einvoice.main, "pdf": pdf.main,
            "load": load.main, "reload": reload.main, "statements": statements.main}

command = COMMANDS.get(sys.argv[1]) if sys.argv[1:] else None
raise SystemExit(command(sys.argv[2:]) if command is not None else run.main())
