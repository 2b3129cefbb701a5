from cnaps.cli import main

main()
