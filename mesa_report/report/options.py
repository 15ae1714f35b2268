"""What a report offers to choose: formats, paper sizes, PDF variants and how much it details.

Kept apart from :mod:`mesa_report.report.document` so that the command line can build its help without
importing the report's machinery (torch, Altair, WeasyPrint take seconds to import).
"""

FORMATS = ("html", "pdf")
"""Report formats, also the file suffixes."""

PAGE_SIZES = ("A4", "Letter")
"""Paper sizes of the PDF report."""

PDF_VARIANTS = ("pdf/a-3b", "pdf/ua-1")
"""Optional PDF flavours: archival (PDF/A-3b) or accessible, tagged (PDF/UA-1)."""

DEFAULT_SAMPLES = 3
"""Samples shown in detail by default."""

DEFAULT_EPOCHS_PER_SAMPLE = 1
"""Epochs of each sample shown with channel, temporal attention and traces by default."""
