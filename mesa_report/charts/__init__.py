"""Every view of mesa-report as an Altair chart, one module per chart family.

- :mod:`~mesa_report.charts.heatmaps`: inter-epoch (with its stage strip), channel and temporal attention;
- :mod:`~mesa_report.charts.traces`: an epoch's EEG, every channel stacked, shaded by the attention it receives;
- :mod:`~mesa_report.charts.night`: hypnograms and the confusion matrix; :mod:`~mesa_report.charts.hypnodensity`;
- :mod:`~mesa_report.charts.dashboard`: the seed's dashboard;
- :mod:`~mesa_report.charts.scales`: colour maps and scales; :mod:`~mesa_report.charts.data` and
  :mod:`~mesa_report.charts.parts`: the data and encoding pieces they share.

The app shows the charts as they are, the HTML reports embed their specs and
:mod:`mesa_report.render.vega` turns them into PNG, SVG or PDF files. They take NumPy arrays and names,
never a model, and change neither their inputs nor any Altair setting.
"""
