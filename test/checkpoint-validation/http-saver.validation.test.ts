import { validate } from "@langchain/langgraph-checkpoint-validation";
import initializer from "./http-saver.initializer";

validate(initializer);
