import { validate } from "@langchain/langgraph-checkpoint-validation";
import initializer from "./neon-saver.initializer";

validate(initializer);
