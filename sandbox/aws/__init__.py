"""The AWS stand-in: moto in server mode behind a gateway whose named parts make it behave as AWS does."""
