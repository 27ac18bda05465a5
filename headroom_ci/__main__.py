from __future__ import annotations

from headroom_ci.main import main

raise SystemExit(main())
