import sys

from bench import deliveries, run

raise SystemExit(deliveries.main(sys.argv[2:]) if sys.argv[1:2] == ["deliveries"] else run.main())
