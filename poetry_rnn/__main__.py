from poetry_rnn.cli import main

raise SystemExit(main())
