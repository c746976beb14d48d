// xunit's global using brings Xunit.Record; records here are always evacuation records.
global using Record = Evacuationd.Contracts.V1.Record;
