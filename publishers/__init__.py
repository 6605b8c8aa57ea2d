"""Turning a frozen edition into documents and putting them somewhere (grows with publishing)."""
