"""z3 encodings of bounded-precision transformers: certificates, CEGIS, communication (section 9.4).
z3 is imported lazily inside these modules' functions, never at package import."""
