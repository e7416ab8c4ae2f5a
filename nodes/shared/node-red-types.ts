// The few Node-RED runtime shapes the nodes use (the official types are loose for config nodes).
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus } from "node-red";

export type { Node, NodeAPI, NodeDef, NodeMessage, NodeStatus };

export type Done = (err?: Error) => void;
export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;
