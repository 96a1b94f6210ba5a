from muontra.cli import main

raise SystemExit(main())
