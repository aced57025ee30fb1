"""The order of the gallery's examples: from a 1-D signal to images to benchmarks."""

ORDER = ["plot_conv_modes.py", "plot_smoothing.py", "plot_lti_system.py", "plot_dice.py",
         "plot_image_filters.py", "plot_stride_dilation_pooling.py", "plot_train_digits.py",
         "plot_benchmarks.py"]


class ExampleOrder:
    """Sort key for sphinx-gallery's ``within_subsection_order``; unknown files go last."""

    def __init__(self, src_dir):
        self.src_dir = src_dir

    def __call__(self, filename):
        return (ORDER.index(filename) if filename in ORDER else len(ORDER), filename)
