from emergelab.cli import main

main()
