// Public surface of the strategy backtest: sources, strategies, the replay engine and its reports.
export { runBacktest, resolveSettings, BacktestError, type BacktestInput, type BacktestResult, type BacktestSettings, type RetrainEvent, type StrategyResult } from './engine';
export { backtestHtml, prequentialChart } from './chart';
export { renderBacktestTable, summaryRows, type SummaryRow } from './report';
export { loadBacktestSource, type BacktestSource, type BacktestSourceOptions } from './source';
export { parseStrategies, parseStrategy, StrategyError, type RetrainStrategy } from './strategy';
export { backtestScenario, SCENARIO_NAMES, type BacktestScenario } from './scenarios';
export { recoveries, meanDaysToRecover, type DailyPoint, type Recovery } from './recovery';
export { trainOnWindow, WindowTrainingError, type TrainedModel, type WindowTraining } from './train-window';
export type { LabelledHistory } from './history';
