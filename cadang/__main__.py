import sys

from cadang.cli.main import main

sys.exit(main())
