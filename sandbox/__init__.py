"""The embedded local AWS: moto in server mode on 127.0.0.1, plus small named parts for what moto lacks."""
