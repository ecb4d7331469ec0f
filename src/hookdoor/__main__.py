from hookdoor.cli import main

main()
