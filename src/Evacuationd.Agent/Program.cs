using Evacuationd.Agent;

return await AgentApp.RunAsync(args, Console.Out, Console.Error, AgentEnvironment.FromProcess()).ConfigureAwait(false);
