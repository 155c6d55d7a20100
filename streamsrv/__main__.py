from streamsrv.cli import main

raise SystemExit(main())
