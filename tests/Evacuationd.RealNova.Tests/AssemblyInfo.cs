// One real Nova is shared by every test here: its scheduler places evacuated servers on any
// host, so tests run one after the other (a host handed to one test is not another's target
// while that test runs).
[assembly: CollectionBehavior(DisableTestParallelization = true)]
