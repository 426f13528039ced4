"""Speech emotion classifiers over dumped features: training and inference."""
