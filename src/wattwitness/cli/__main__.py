from wattwitness.cli import main

main()
