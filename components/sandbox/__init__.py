"""The local sandbox: the real program against moto server and a local git repo."""
