using Evacuationd.Core.Engine;
using Evacuationd.Core.Planning;
using Evacuationd.Core.Workflow;

namespace Evacuationd.Core.Tests.Workflow;

public class OptionsValidationTests
{
    [Fact]
    public void DefaultsAreValid()
    {
        Assert.Empty(new EngineOptions().Validate());
    }

    [Fact]
    public void WorkflowProblemsNameTheirKeys()
    {
        var o = new WorkflowOptions
        {
            MaxAttempts = 0,
            PollInterval = TimeSpan.Zero,
            BackoffBase = TimeSpan.FromMinutes(5),
            BackoffMax = TimeSpan.FromMinutes(1),
            CallSettle = TimeSpan.Zero,
            RebuildTimeout = TimeSpan.Zero,
            TaskStateTimeout = TimeSpan.Zero,
        };

        var errors = o.Validate("Engine:Workflow").ToList();

        Assert.Equal(6, errors.Count);
        foreach (var key in new[] { "MaxAttempts", "PollInterval", "BackoffBase", "CallSettle", "RebuildTimeout", "TaskStateTimeout" })
        {
            Assert.Contains(errors, e => e.StartsWith($"Engine:Workflow:{key} ", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void CallSettleMustExceedThePollAndRebuildTimeoutTheSettle()
    {
        var o = new WorkflowOptions { PollInterval = TimeSpan.FromSeconds(5), CallSettle = TimeSpan.FromSeconds(5), RebuildTimeout = TimeSpan.FromSeconds(5) };

        var errors = o.Validate("W").ToList();

        Assert.Contains("W:CallSettle must exceed PollInterval (got 00:00:05 and 00:00:05).", errors);
        Assert.Contains("W:RebuildTimeout must exceed CallSettle (got 00:00:05 and 00:00:05).", errors);
    }

    [Fact]
    public void FilterWithoutKeyIsRefusedUnlessItSelectsEverything()
    {
        var planning = new PlanningOptions { Evacuable = new EvacuableFilterOptions { Mode = EvacuableMode.Tag, Key = " " } };

        Assert.Equal(["P:Evacuable:Key is required when Evacuable:Mode is Tag."], planning.Validate("P"));
        Assert.Empty(new PlanningOptions { Evacuable = new EvacuableFilterOptions { Mode = EvacuableMode.All, Key = "" } }.Validate("P"));
    }

    [Fact]
    public void KeepAliveMustBeAtMostHalfTheTtl()
    {
        var errors = new EngineOptions { LeaseTtl = TimeSpan.FromSeconds(10), KeepAliveInterval = TimeSpan.FromSeconds(6) }.Validate();

        Assert.Contains(errors, e => e.StartsWith("Engine:KeepAliveInterval ", StringComparison.Ordinal));
    }
}
