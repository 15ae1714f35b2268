"""The seed's quick start: ``python visualize_attention.py`` draws the attention files of the demo.

It runs ``mesa-report visualize`` with its defaults (the built-in demo cohort and model, the 5
samples of its first night that the report details, files in ``attention_visualizations/``); any
``mesa-report visualize`` option may follow, e.g. ``--subject 2 --samples 3 7``, or
``python visualize_attention.py --checkpoint_path checkpoints_mesa/best_model.pth
--preprocessed_dir C:\\mesa --csv_path mesa_final.csv``.
"""

import sys

from mesa_report.cli.main import main

if __name__ == "__main__":
    sys.exit(main(["visualize", *sys.argv[1:]]))
